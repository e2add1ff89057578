// Builds small, valid PDFs for the specs: page n says "Uplink page n".

export function pageMarker(n: number): string {
  return `Uplink page ${n}`;
}

export function makePdf(pages: number): Buffer {
  // 1: catalog, 2: pages, 3: font, then a content stream and a page per page.
  const kids: string[] = [];
  const body: string[] = [];
  for (let n = 1; n <= pages; n++) {
    const contentId = 4 + (n - 1) * 2;
    const pageId = contentId + 1;
    const text = `BT /F1 18 Tf 72 720 Td (${pageMarker(n)}) Tj 0 -24 Td (The quick brown fox.) Tj ET`;
    body[contentId] = `<< /Length ${text.length} >>\nstream\n${text}\nendstream`;
    body[pageId] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${contentId} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`;
    kids.push(`${pageId} 0 R`);
  }
  body[1] = "<< /Type /Catalog /Pages 2 0 R >>";
  body[2] = `<< /Type /Pages /Kids [${kids.join(" ")}] /Count ${pages} >>`;
  body[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  for (let id = 1; id < body.length; id++) {
    offsets[id] = Buffer.byteLength(out, "latin1");
    out += `${id} 0 obj\n${body[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${body.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < body.length; id++) {
    out += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`;
  }
  out += `trailer\n<< /Size ${body.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}
