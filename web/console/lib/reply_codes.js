// What a server reply means, for the hover text of the Sessions page's
// transcripts: SMTP basic codes (RFC 5321 §4.2), enhanced status codes
// (RFC 3463, class.subject.detail) and POP3 status indicators (RFC 1939)
// with their response codes (RFC 2449 §8, RFC 3206). Pure data and parsing:
// the page sets the result as a title attribute (text, never markup).

export const SMTP_CLASSES = {
  2: 'positive completion: the command was done',
  3: 'positive intermediate: send the rest (e.g. the message after DATA)',
  4: 'transient negative: not done now, the client may try again later',
  5: 'permanent negative: not done, do not repeat it unchanged',
};

// RFC 5321 §4.2.2/§4.2.3 and RFC 1870/RFC 4954 codes a server sends.
export const SMTP_CODES = {
  211: 'System status, or system help reply',
  214: 'Help message',
  220: 'Service ready (the greeting)',
  221: 'Service closing transmission channel (answer to QUIT)',
  235: 'Authentication succeeded (RFC 4954)',
  250: 'Requested mail action okay, completed',
  251: 'User not local; will forward',
  252: 'Cannot VRFY user, but will accept message and attempt delivery',
  334: 'Server challenge: send the next authentication data (RFC 4954)',
  354: 'Start mail input; end with <CRLF>.<CRLF>',
  421: 'Service not available, closing transmission channel',
  432: 'A password transition is needed (RFC 4954)',
  450: 'Requested mail action not taken: mailbox unavailable (e.g. busy)',
  451: 'Requested action aborted: local error in processing',
  452: 'Requested action not taken: insufficient system storage (or too many recipients)',
  454: 'Temporary authentication failure (RFC 4954)',
  455: 'Server unable to accommodate parameters',
  500: 'Syntax error, command unrecognized (or line too long)',
  501: 'Syntax error in parameters or arguments',
  502: 'Command not implemented',
  503: 'Bad sequence of commands',
  504: 'Command parameter not implemented',
  530: 'Authentication required (RFC 4954)',
  534: 'Authentication mechanism is too weak (RFC 4954)',
  535: 'Authentication credentials invalid (RFC 4954)',
  538: 'Encryption required for the requested authentication mechanism (RFC 4954)',
  550: 'Requested action not taken: mailbox unavailable (not found, no access, policy)',
  551: 'User not local',
  552: 'Requested mail action aborted: exceeded storage allocation (message too big)',
  553: 'Requested action not taken: mailbox name not allowed',
  554: 'Transaction failed (or, as greeting, no SMTP service here)',
  555: 'MAIL FROM/RCPT TO parameters not recognized or not implemented',
};

// RFC 3463 §3 (class), §4 (subject) and the details of §3.x.
const ENH_CLASS = { 2: 'Success', 4: 'Persistent transient failure', 5: 'Permanent failure' };
const ENH_SUBJECT = {
  0: 'Other or undefined status',
  1: 'Addressing status',
  2: 'Mailbox status',
  3: 'Mail system status',
  4: 'Network and routing status',
  5: 'Mail delivery protocol status',
  6: 'Message content or media status',
  7: 'Security or policy status',
};
export const ENH_DETAILS = {
  '0.0': 'Other undefined status',
  '1.0': 'Other address status',
  '1.1': 'Bad destination mailbox address',
  '1.2': 'Bad destination system address',
  '1.3': 'Bad destination mailbox address syntax',
  '1.4': 'Destination mailbox address ambiguous',
  '1.5': 'Destination address valid',
  '1.6': 'Destination mailbox has moved, no forwarding address',
  '1.7': 'Bad sender\'s mailbox address syntax',
  '1.8': 'Bad sender\'s system address',
  '2.0': 'Other or undefined mailbox status',
  '2.1': 'Mailbox disabled, not accepting messages',
  '2.2': 'Mailbox full',
  '2.3': 'Message length exceeds administrative limit',
  '2.4': 'Mailing list expansion problem',
  '3.0': 'Other or undefined mail system status',
  '3.1': 'Mail system full',
  '3.2': 'System not accepting network messages',
  '3.3': 'System not capable of selected features',
  '3.4': 'Message too big for system',
  '3.5': 'System incorrectly configured',
  '4.0': 'Other or undefined network or routing status',
  '4.1': 'No answer from host',
  '4.2': 'Bad connection',
  '4.3': 'Directory server failure',
  '4.4': 'Unable to route',
  '4.5': 'Mail system congestion',
  '4.6': 'Routing loop detected',
  '4.7': 'Delivery time expired',
  '5.0': 'Other or undefined protocol status',
  '5.1': 'Invalid command',
  '5.2': 'Syntax error',
  '5.3': 'Too many recipients',
  '5.4': 'Invalid command arguments',
  '5.5': 'Wrong protocol version',
  '6.0': 'Other or undefined media error',
  '6.1': 'Media not supported',
  '6.2': 'Conversion required and prohibited',
  '6.3': 'Conversion required but not supported',
  '6.4': 'Conversion with loss performed',
  '6.5': 'Conversion failed',
  '7.0': 'Other or undefined security status',
  '7.1': 'Delivery not authorized, message refused',
  '7.2': 'Mailing list expansion prohibited',
  '7.3': 'Security conversion required but not possible',
  '7.4': 'Security features not supported',
  '7.5': 'Cryptographic failure',
  '7.6': 'Cryptographic algorithm not supported',
  '7.7': 'Message integrity failure',
  '7.8': 'Authentication credentials invalid (RFC 4954)',
  '7.9': 'Authentication mechanism is too weak (RFC 4954)',
  '7.11': 'Encryption required for requested authentication mechanism (RFC 4954)',
};

// RFC 1939 status indicators and the bracketed response codes.
export const POP3_STATUS = {
  '+OK': 'positive status indicator: the command succeeded (RFC 1939 §3)',
  '-ERR': 'negative status indicator: the command failed (RFC 1939 §3)',
};
export const POP3_RESP_CODES = {
  'IN-USE': 'the maildrop is locked by another session (RFC 2449 §8.1.1)',
  'LOGIN-DELAY': 'logged in too recently, try later (RFC 2449 §8.1.2)',
  'SYS/TEMP': 'a temporary system problem, try later (RFC 3206 §4)',
  'SYS/PERM': 'a permanent system problem, do not retry (RFC 3206 §4)',
  AUTH: 'the credentials were not accepted (RFC 3206 §5)',
};

// Explains a server line. Returns null if it carries no status, else
// { kind: 'smtp'|'pop3', code, cls, title, enhanced?, enhancedTitle?, status? }
// where cls is the CSS class suffix (2, 3, 4, 5 for SMTP; ok, err for POP3)
// and code/enhanced are the exact leading characters of the line.
export function explain(protocol, text) {
  if (protocol === 'pop3') {
    const m = /^(\+OK|-ERR)(?: \[([A-Z][A-Z/-]*)\])?/.exec(text);
    if (!m) return null;
    const out = { kind: 'pop3', code: m[1], cls: m[1] === '+OK' ? 'ok' : 'err', title: `${m[1]}: ${POP3_STATUS[m[1]]}` };
    if (m[2]) {
      out.enhanced = `[${m[2]}]`;
      out.enhancedTitle = `[${m[2]}]: ${POP3_RESP_CODES[m[2]] || 'an extended response code (RFC 2449 §8)'}`;
    }
    return out;
  }
  const m = /^([2-5])(\d\d)([ -]|$)(?:([245])\.(\d{1,3})\.(\d{1,3})(?= |$))?/.exec(text);
  if (!m) return null;
  const code = `${m[1]}${m[2]}`;
  const meaning = SMTP_CODES[code] || 'a reply code RFC 5321 does not list';
  const out = {
    kind: 'smtp',
    code,
    cls: m[1],
    title: `${code}: ${meaning} — ${m[1]}xx: ${SMTP_CLASSES[m[1]]} (RFC 5321 §4.2)${m[3] === '-' ? '; more lines follow' : ''}`,
  };
  if (m[4]) {
    const enh = `${m[4]}.${m[5]}.${m[6]}`;
    const detail = ENH_DETAILS[`${m[5]}.${m[6]}`];
    const subject = ENH_SUBJECT[m[5]] || 'an unknown subject';
    out.enhanced = enh;
    out.enhancedTitle = `${enh}: ${ENH_CLASS[m[4]]}; ${subject}${detail ? `: ${detail}` : ''} (RFC 3463)`;
  }
  return out;
}

// A short note on a client command, for the hover text of C: lines.
const SMTP_VERBS = {
  HELO: 'identify the client (RFC 5321 §4.1.1.1)',
  EHLO: 'identify the client and ask for the extensions (RFC 5321 §4.1.1.1)',
  MAIL: 'start a transaction with the reverse path (RFC 5321 §4.1.1.2)',
  RCPT: 'add a recipient (RFC 5321 §4.1.1.3)',
  DATA: 'send the message; ends with a line holding one dot (RFC 5321 §4.1.1.4)',
  RSET: 'abort the transaction (RFC 5321 §4.1.1.5)',
  VRFY: 'verify an address (RFC 5321 §4.1.1.6)',
  EXPN: 'expand a list (RFC 5321 §4.1.1.7)',
  HELP: 'ask for help (RFC 5321 §4.1.1.8)',
  NOOP: 'do nothing (RFC 5321 §4.1.1.9)',
  QUIT: 'close the session (RFC 5321 §4.1.1.10)',
  AUTH: 'authenticate (RFC 4954); the data is masked',
  STARTTLS: 'start TLS (RFC 3207)',
};
const POP3_VERBS = {
  USER: 'name the maildrop (RFC 1939 §7)',
  PASS: 'the password; masked (RFC 1939 §7)',
  APOP: 'authenticate with a digest (RFC 1939 §7); masked',
  STAT: 'number of messages and octets (RFC 1939 §5)',
  LIST: 'size of one or every message (RFC 1939 §5)',
  RETR: 'retrieve a message (RFC 1939 §5)',
  DELE: 'mark a message deleted (RFC 1939 §5)',
  NOOP: 'do nothing (RFC 1939 §5)',
  RSET: 'unmark deleted messages (RFC 1939 §5)',
  QUIT: 'end; in TRANSACTION enter UPDATE and remove the deleted messages (RFC 1939 §6)',
  TOP: 'headers and the first lines of a message (RFC 1939 §7)',
  UIDL: 'unique id of one or every message (RFC 1939 §7)',
  CAPA: 'list the capabilities (RFC 2449 §5)',
  AUTH: 'SASL authentication (RFC 5034); masked',
  STLS: 'start TLS (RFC 2595)',
};

export function explainCommand(protocol, text) {
  const verb = (/^[A-Za-z]+/.exec(text) || [''])[0].toUpperCase();
  const table = protocol === 'pop3' ? POP3_VERBS : SMTP_VERBS;
  if (table[verb]) return `${verb}: ${table[verb]}`;
  if (/^<\d+ octets>$/.test(text)) return 'content not recorded, only its size (a message body, or a line that is no command)';
  return null;
}
