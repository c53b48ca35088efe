// The DOM helpers the console and the phone page share (served as dom.js beside each page's own
// script): elements built from text, never from HTML — a string child becomes a text node and
// "text" sets textContent, so what a customer, Apple or an identity provider wrote stays text.
"use strict";

window.bcauthDom = Object.freeze({
  el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  },
  clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  },
});
