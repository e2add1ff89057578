// Builds small, valid PDFs for the specs: page n says "Uplink page n"; and scans, whose
// pages are only pictures of text, for OCR.
import { execFileSync } from "node:child_process";
import { deflateSync } from "node:zlib";

export function pageMarker(n: number): string {
  return `Uplink page ${n}`;
}

export function makePdf(pages: number): Buffer {
  return textPdf(markedPages(pages));
}

/**
 * Like [`makePdf`], but each page also runs 20,000 operators that draw nothing (one
 * content stream all pages share): poppler takes about 5 ms a page, so a 3,000-page file
 * is still being read 15 s later, long enough to click Cancel while its job runs.
 */
export function makeSlowPdf(pages: number): Buffer {
  return textPdf(markedPages(pages), "q Q ".repeat(20_000));
}

function markedPages(pages: number): string[][] {
  return Array.from({ length: pages }, (_, i) => [pageMarker(i + 1), "The quick brown fox."]);
}

/** A PDF whose page n has the lines `pages[n - 1]`, set in Helvetica, then `shared`. */
function textPdf(pages: string[][], shared = ""): Buffer {
  // 1: catalog, 2: pages, 3: font, 4: the shared content, then a content stream and a
  // page per page.
  const body: (string | Buffer)[] = [];
  const kids: string[] = [];
  body[4] = `<< /Length ${shared.length} >>\nstream\n${shared}\nendstream`;
  pages.forEach((lines, i) => {
    const contentId = 5 + i * 2;
    const shown = lines.map((line, j) => `${j === 0 ? "" : "0 -24 Td "}(${line}) Tj`).join(" ");
    const text = `BT /F1 18 Tf 72 720 Td ${shown} ET`;
    body[contentId] = `<< /Length ${text.length} >>\nstream\n${text}\nendstream`;
    body[contentId + 1] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [${contentId} 0 R 4 0 R] /Resources << /Font << /F1 3 0 R >> >> >>`;
    kids.push(`${contentId + 1} 0 R`);
  });
  body[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
  return writePdf(body, kids);
}

/**
 * A scan of `pages`: each set as text, drawn by poppler's `pdftoppm` in grey at 150 dpi,
 * and kept only as that picture, as a scanner makes it.
 */
export function makeScan(pages: string[][]): Buffer {
  const text = textPdf(pages);
  const body: (string | Buffer)[] = [];
  const kids: string[] = [];
  pages.forEach((_, i) => {
    const n = String(i + 1);
    const drawing = ["-f", n, "-l", n, "-r", "150", "-gray", "-"];
    const pgm = execFileSync("pdftoppm", drawing, { input: text, maxBuffer: 64 << 20 });
    // A binary PGM: "P5", width, height, the largest value, each ended by whitespace.
    const header = /^P5\s+(\d+)\s+(\d+)\s+\d+\s/.exec(pgm.subarray(0, 64).toString("latin1"));
    if (!header) throw new Error(`pdftoppm did not draw page ${n}`);
    const [whole, width, height] = header;
    const pixels = deflateSync(pgm.subarray(whole.length));
    const imageId = 3 + i * 3;
    body[imageId] = Buffer.concat([
      Buffer.from(
        `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceGray` +
          ` /BitsPerComponent 8 /Filter /FlateDecode /Length ${pixels.length} >>\nstream\n`,
        "latin1",
      ),
      pixels,
      Buffer.from("\nendstream", "latin1"),
    ]);
    const draw = "q 612 0 0 792 0 0 cm /Scan Do Q";
    body[imageId + 1] = `<< /Length ${draw.length} >>\nstream\n${draw}\nendstream`;
    body[imageId + 2] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${imageId + 1} 0 R` +
      ` /Resources << /XObject << /Scan ${imageId} 0 R >> >> >>`;
    kids.push(`${imageId + 2} 0 R`);
  });
  return writePdf(body, kids);
}

/** A whole PDF: catalog 1, page tree 2 with `kids`, then the objects in `body`. */
function writePdf(body: (string | Buffer)[], kids: string[]): Buffer {
  body[1] = "<< /Type /Catalog /Pages 2 0 R >>";
  body[2] = `<< /Type /Pages /Kids [${kids.join(" ")}] /Count ${kids.length} >>`;
  const parts: Buffer[] = [Buffer.from("%PDF-1.4\n", "latin1")];
  let length = parts[0].length;
  const offsets: number[] = [];
  const add = (part: string | Buffer) => {
    const bytes = typeof part === "string" ? Buffer.from(part, "latin1") : part;
    parts.push(bytes);
    length += bytes.length;
  };
  for (let id = 1; id < body.length; id++) {
    offsets[id] = length;
    add(`${id} 0 obj\n`);
    add(body[id]);
    add("\nendobj\n");
  }
  const xref = length;
  add(`xref\n0 ${body.length}\n0000000000 65535 f \n`);
  for (let id = 1; id < body.length; id++) add(`${String(offsets[id]).padStart(10, "0")} 00000 n \n`);
  add(`trailer\n<< /Size ${body.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}
