// Starts the rasa-webchat widget with the settings the page server wrote into the page.
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("chat-settings").textContent);

  window.WebChat.default({
    selector: "#chat-widget",
    socketUrl: settings.socketUrl,
    socketPath: settings.socketPath,
    // "/greet" makes the assistant say hello as soon as the chat is first opened.
    initPayload: settings.initPayload,
    title: settings.title,
    subtitle: settings.subtitle,
    inputTextFieldHint: "Type your question...",
    showFullScreenButton: false,
    // The conversation (and its session id) survive a reload of the page (see web_page.py).
    params: { storage: settings.storage },
    // The widget otherwise waits 0.8-3 s before showing each reply.
    customMessageDelay: function () { return 0; }
  }, null);

  document.getElementById("open-chat").addEventListener("click", function () {
    window.WebChat.open();
  });
})();
