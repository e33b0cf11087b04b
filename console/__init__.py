"""The browser console (issue 13): server-rendered pages served by the API process."""
