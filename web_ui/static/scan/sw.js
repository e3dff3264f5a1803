// The handheld page's service worker (issue 21): filled in with the page.
