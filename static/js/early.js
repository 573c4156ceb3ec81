// Loaded in <head> without defer, before first paint: styles for "JavaScript is on" apply at once,
// so controls that only the no-JavaScript page needs never flash. (An inline script would do the
// same, but the Content-Security-Policy allows none.)
document.documentElement.className = "js";
