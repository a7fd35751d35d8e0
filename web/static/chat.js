// Starts the rasa-webchat widget with the settings the page server wrote into the page, and
// makes it usable with a screen reader and the keyboard alone (docs/accessibility.md).
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("chat-settings").textContent);
  var mount = document.getElementById("chat-widget");

  // What a screen reader says for the widget's controls: it names none of them itself.
  var NAMES = {
    open: "Open the chat",
    close: "Close the chat",
    send: "Send",
    message: "Your message",
    conversation: "Conversation with the assistant"
  };

  function find(selector) {
    return mount.querySelector(selector);
  }

  function isOpen() {
    return find(".rw-conversation-container") !== null;
  }

  // After the widget has rendered the change that called us.
  function later(callback) {
    window.setTimeout(callback, 0);
  }

  function focusMessageBox() {
    later(function () {
      var box = find(".rw-new-message");
      if (box) { box.focus(); }
    });
  }

  function focusLauncher() {
    later(function () {
      var launcher = find(".rw-launcher");
      if (launcher) { launcher.focus(); }
    });
  }

  function setAll(selector, attributes) {
    Array.prototype.forEach.call(mount.querySelectorAll(selector), function (element) {
      Object.keys(attributes).forEach(function (name) {
        if (element.getAttribute(name) !== attributes[name]) {
          element.setAttribute(name, attributes[name]);
        }
      });
    });
  }

  // The widget re-renders (and re-creates its elements) as messages come and the chat opens
  // and closes, so the names and roles are put back after every change.
  function describeWidget() {
    var open = isOpen();
    setAll(".rw-launcher", {
      "aria-label": open ? NAMES.close : NAMES.open,
      "aria-expanded": open ? "true" : "false"
    });
    setAll(".rw-close-button", { "aria-label": NAMES.close });
    setAll(".rw-send", { "aria-label": NAMES.send });
    setAll(".rw-new-message", { "aria-label": NAMES.message });
    // New bot messages are read out once the patient's screen reader is idle.
    setAll(".rw-messages-container", {
      role: "log",
      "aria-live": "polite",
      "aria-label": NAMES.conversation
    });
    // The widget's title is an <h4> after the page's <h2>s.
    setAll(".rw-conversation-container .rw-title", { role: "heading", "aria-level": "2" });
    // Quick replies are bare <div>s with a click handler: not focusable, not buttons.
    setAll("div.rw-reply", { role: "button", tabindex: "0" });
  }

  new MutationObserver(describeWidget).observe(mount, { childList: true, subtree: true });

  mount.addEventListener("keydown", function (event) {
    var target = event.target;
    var isReply = target.matches && target.matches("div.rw-reply");
    if (isReply && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      target.click();
      // The chosen button goes away with its message's buttons: keep the focus in the chat.
      focusMessageBox();
    } else if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      find(".rw-launcher").click();
    }
  });

  window.WebChat.default({
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
    customMessageDelay: function () { return 0; },
    // Opening moves the focus to the message box; closing gives it back to the launcher.
    onWidgetEvent: { onChatOpen: focusMessageBox, onChatClose: focusLauncher }
  }, mount);

  // The page's own "Ask our assistant" button, where the page has one.
  var opener = document.getElementById("open-chat");
  if (opener) {
    opener.addEventListener("click", function () {
      if (isOpen()) {
        focusMessageBox();
      } else {
        find(".rw-launcher").click();
      }
    });
  }
})();
