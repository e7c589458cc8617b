// Characters XML 1.0 cannot hold at all: a value carrying them would make the whole file unreadable to the phone.
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const XML_SPECIAL: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(value: unknown): string {
  return String(value ?? '').replace(XML_FORBIDDEN, '').replace(/[&<>"']/g, (c) => XML_SPECIAL[c]!);
}

/** `key = value` grammars have no quoting: a line break in a value would start a setting of the caller's choosing. */
export function escapeLine(value: unknown): string {
  return String(value ?? '').replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
}
