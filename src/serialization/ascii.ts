const HAS_NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII = /[\u007f-\uffff]/g;

/**
 * JSON text of `value` in printable ASCII: JSON.stringify escapes what is below
 * 0x20 and lone surrogates; this escapes DEL and everything above it, so the
 * text is safe in HTTP headers and 7-bit transports.
 */
export function asciiJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (!HAS_NON_ASCII.test(text)) return text;
  return text.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
