import t from 'tap';
import { type CsvSyntaxError, formatCsv, guardCell, parseCsv } from '../../daemon/bulk/csv';
import { columnFor, templateRows } from '../../daemon/bulk/columns';
import { decodeUpload } from '../../daemon/bulk/import';

t.test('plain, BOM, CRLF and a trailing blank line', async (t) => {
  t.same(parseCsv('\ufeffa,b\r\n1,2\r\n\r\n'), [{ line: 1, cells: ['a', 'b'] }, { line: 2, cells: ['1', '2'] }]);
  t.same(parseCsv('a,b\r1,2'), [{ line: 1, cells: ['a', 'b'] }, { line: 2, cells: ['1', '2'] }], 'old Mac line ends');
});

t.test('quoted separators, quotes and line breaks; lines counted as a spreadsheet shows them', async (t) => {
  const rows = parseCsv('name,note\n"Lovelace, Ada","said ""hi""\nand left"\nBob,x\n');
  t.same(rows, [
    { line: 1, cells: ['name', 'note'] },
    { line: 2, cells: ['Lovelace, Ada', 'said "hi"\nand left'] },
    { line: 4, cells: ['Bob', 'x'] },
  ]);
  t.same(parseCsv('a,""\n'), [{ line: 1, cells: ['a', ''] }]);
});

t.test('semicolon and tab separated exports', async (t) => {
  t.same(parseCsv('First Name;Last Name\nAda;"Love;lace"\n')[1]!.cells, ['Ada', 'Love;lace']);
  t.same(parseCsv('a\tb\n1\t2\n')[1]!.cells, ['1', '2']);
});

t.test('broken quoting is refused with its line', async (t) => {
  t.throws(() => parseCsv('a,b\n1,"open\n2,3\n'), { line: 2, message: /never closed/ });
  try {
    parseCsv('a,b\n1,"x"y\n');
  } catch (err) {
    t.equal((err as CsvSyntaxError).line, 2);
  }
});

t.test('a Windows-1252 export is read, UTF-8 preferred', async (t) => {
  t.equal(decodeUpload(Buffer.from([0x52, 0xe9, 0x6d, 0x79])), 'Rémy');
  t.equal(decodeUpload(Buffer.from('Rémy', 'utf8')), 'Rémy');
});

t.test('exports neutralise formulas and round-trip through the parser', async (t) => {
  for (const bad of ['=HYPERLINK("http://evil")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) t.equal(guardCell(bad)[0], "'");
  t.equal(guardCell('Ada'), 'Ada');
  const text = formatCsv([['a', 'b'], ['=cmd|"/c calc"!A1', 'x,y\n"z"']]);
  t.ok(text.startsWith('\ufeff'));
  t.same(parseCsv(text)[1]!.cells, ['\'=cmd|"/c calc"!A1', 'x,y\n"z"']);
});

t.test('headers: template names, keys and marked names are one column', async (t) => {
  t.equal(columnFor('First Name (required)')?.key, 'firstName');
  t.equal(columnFor('first_name')?.key, 'firstName');
  t.equal(columnFor('EMAIL*')?.key, 'email');
  t.equal(columnFor('Salary'), undefined);
  t.match(templateRows('advanced')[0], ['First Name (required)', 'Last Name (required)', 'Email (required)', 'Username (optional)']);
  t.same(templateRows('basic')[0], ['First Name', 'Last Name', 'Email', 'Username']);
});
