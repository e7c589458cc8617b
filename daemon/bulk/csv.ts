/**
 * RFC 4180 CSV as spreadsheets write it: a byte-order mark, `,` or `;` or tab
 * as the separator (Excel uses `;` where the decimal mark is a comma),
 * quoted fields holding separators, quotes and line breaks, and any of
 * CRLF, LF or CR between records.
 */
export interface CsvRecord {
  /** The line of the file the record starts on, counting from 1, as a spreadsheet shows it. */
  line: number;
  cells: string[];
}

export class CsvSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

export function detectSeparator(firstLine: string): ',' | ';' | '\t' {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch as keyof typeof counts]++;
  }
  const [best, n] = Object.entries(counts).sort((a, b) => b[1] - a[1])[0]!;
  return (n > 0 ? best : ',') as ',' | ';' | '\t';
}

export function parseCsv(input: string): CsvRecord[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const sep = detectSeparator(text.slice(0, text.search(/\r|\n|$/)));
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let start = 1;
  let i = 0;
  let quoted = false;
  let wasQuoted = false;
  const endRecord = () => {
    cells.push(cell);
    // A record of one empty cell is a blank line: spreadsheets leave them at the end.
    if (!(cells.length === 1 && cells[0] === '' && !wasQuoted)) records.push({ line: start, cells });
    cells = [];
    cell = '';
    wasQuoted = false;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (next !== undefined && next !== sep && next !== '\r' && next !== '\n') {
          throw new CsvSyntaxError(line, `a closing quote must be followed by "${sep === '\t' ? 'tab' : sep}" or the end of the line`);
        }
        continue;
      }
      if (ch === '\r' || ch === '\n') {
        line++;
        if (ch === '\r' && text[i + 1] === '\n') {
          cell += '\r\n';
          i += 2;
          continue;
        }
      }
      cell += ch;
      i++;
      continue;
    }
    if (ch === '"' && cell === '') {
      quoted = true;
      wasQuoted = true;
      i++;
    } else if (ch === sep) {
      cells.push(cell);
      cell = '';
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      start = line;
    } else {
      cell += ch;
      i++;
    }
  }
  if (quoted) throw new CsvSyntaxError(start, 'a quoted field is never closed: a quote is missing');
  if (cell !== '' || cells.length > 0 || wasQuoted) endRecord();
  return records;
}

/**
 * A cell a spreadsheet would run as a formula (= + - @, or a tab or carriage
 * return before one) gets a leading apostrophe, so an export opened in Excel
 * or LibreOffice shows text instead of executing it (OWASP: CSV injection).
 */
export function guardCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function formatCsv(rows: (string | number | boolean | null | undefined)[][]): string {
  const cell = (v: string | number | boolean | null | undefined) => {
    const s = guardCell(v === null || v === undefined ? '' : String(v));
    return /[",\r\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  // The BOM makes Excel read the file as UTF-8 rather than the local code page.
  return '\ufeff' + rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
