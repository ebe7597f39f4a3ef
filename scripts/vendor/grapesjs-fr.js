// Entry of the French locale bundle for GrapesJS and grapesjs-mjml (their locale files are
// CommonJS modules): window.MailerGrapesLocales = {fr: {...grapesjs, ...grapesjs-mjml}}.
import grapesFr from "grapesjs/locale/fr.js";
import mjmlFr from "grapesjs-mjml/locale/fr.js";

window.MailerGrapesLocales = { fr: { ...grapesFr, ...mjmlFr } };
