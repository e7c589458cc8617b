/**
 * The bytes of a text in memory of their own. Buffer.from gives a small text
 * a slice of Node's shared 8 kB pool, and a slice kept keeps the whole block
 * alive with whatever short-lived bytes were cut from it beside it: for
 * anything remembered (a rendered file in a cache, a SIP answer kept for
 * retransmissions), up to 8 kB held per entry instead of its own size.
 */
export function ownBuffer(text: string, encoding: BufferEncoding): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, encoding));
  bytes.write(text, encoding);
  return bytes;
}
