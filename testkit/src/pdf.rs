//! Small, valid PDFs built in memory, so no test or benchmark needs a file from
//! anywhere: each page a title a test can find again, then lines of prose in Helvetica.

use lopdf::{
    content::{Content, Operation},
    dictionary, Document, Object, Stream,
};

/// The text that page `n` of every made PDF carries, so a test can find it again.
pub fn page_marker(n: u32) -> String {
    format!("Uplink page {n}")
}

/// A PDF of `pages` pages, page `n` saying [`page_marker`]`(n)` and a line of filler.
pub fn pdf(pages: u32) -> Vec<u8> {
    document(pages, 1)
}

/// A PDF of `pages` pages of `lines` lines of prose under each page's marker: the load
/// tool's end-to-end document (forty lines make a page of ordinary prose).
pub fn document(pages: u32, lines: u32) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let tree = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let kids: Vec<Object> = (1..=pages)
        .map(|page| {
            let contents = doc.add_object(Stream::new(dictionary! {}, page_text(page, lines)));
            doc.add_object(
                dictionary! { "Type" => "Page", "Parent" => tree, "Contents" => contents },
            )
            .into()
        })
        .collect();
    finish(doc, tree, kids, dictionary! { "Font" => dictionary! { "F1" => font } })
}

fn page_text(page: u32, lines: u32) -> Vec<u8> {
    let mut operations = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 11.into()]),
        Operation::new("TL", vec![14.into()]),
        Operation::new("Td", vec![72.into(), 740.into()]),
        Operation::new("Tj", vec![Object::string_literal(page_marker(page))]),
    ];
    for line in 1..=lines {
        let text =
            format!("Line {line} of page {page}: the quick brown fox jumps over the lazy dog.");
        operations.push(Operation::new("T*", vec![]));
        operations.push(Operation::new("Tj", vec![Object::string_literal(text)]));
    }
    operations.push(Operation::new("ET", vec![]));
    Content { operations }.encode().expect("these operations always encode")
}

/// A scanned document: each page's `lines` set in Helvetica, drawn by poppler's
/// `pdftoppm` at 200 dpi in grey, and kept only as that picture, a page-sized image with
/// no text layer, as a scanner makes it. The words are known, so OCR can be scored.
pub fn scanned(pages: &[Vec<String>]) -> Vec<u8> {
    let text = text_document(pages);
    let mut doc = Document::with_version("1.7");
    let tree = doc.new_object_id();
    let kids: Vec<Object> = (1..=pages.len())
        .map(|page| {
            let (width, height, pixels) = drawn(&text, page);
            let mut image = Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image",
                    "Width" => width, "Height" => height,
                    "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
                },
                pixels,
            );
            image.compress().expect("an image compresses");
            let image = doc.add_object(image);
            let draw = b"q 612 0 0 792 0 0 cm /Scan Do Q".to_vec();
            let contents = doc.add_object(Stream::new(dictionary! {}, draw));
            let resources = dictionary! { "XObject" => dictionary! { "Scan" => image } };
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => tree, "Contents" => contents,
                "Resources" => resources,
            })
            .into()
        })
        .collect();
    finish(doc, tree, kids, dictionary! {})
}

/// A text PDF of `pages`, each of its lines in Helvetica 14.
fn text_document(pages: &[Vec<String>]) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let tree = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let kids: Vec<Object> = pages
        .iter()
        .map(|lines| {
            let mut operations = vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 14.into()]),
                Operation::new("TL", vec![22.into()]),
                Operation::new("Td", vec![72.into(), 720.into()]),
            ];
            for line in lines {
                operations.push(Operation::new("Tj", vec![Object::string_literal(line.as_str())]));
                operations.push(Operation::new("T*", vec![]));
            }
            operations.push(Operation::new("ET", vec![]));
            let content = Content { operations }.encode().expect("these operations always encode");
            let contents = doc.add_object(Stream::new(dictionary! {}, content));
            doc.add_object(
                dictionary! { "Type" => "Page", "Parent" => tree, "Contents" => contents },
            )
            .into()
        })
        .collect();
    finish(doc, tree, kids, dictionary! { "Font" => dictionary! { "F1" => font } })
}

fn finish(
    mut doc: Document,
    tree: lopdf::ObjectId,
    kids: Vec<Object>,
    resources: lopdf::Dictionary,
) -> Vec<u8> {
    let count = kids.len() as u32;
    doc.objects.insert(
        tree,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => tree });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("writing to memory cannot fail");
    bytes
}

/// Page `page` of `pdf` drawn by `pdftoppm` in grey at 200 dpi: width, height, pixels.
fn drawn(pdf: &[u8], page: usize) -> (u32, u32, Vec<u8>) {
    use std::{
        io::Write,
        process::{Command, Stdio},
    };
    let page = page.to_string();
    let mut child = Command::new("pdftoppm")
        .args(["-f", &page, "-l", &page, "-r", "200", "-gray", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pdftoppm runs (poppler-utils)");
    child.stdin.take().expect("piped").write_all(pdf).expect("pdftoppm reads the PDF");
    let out = child.wait_with_output().expect("pdftoppm ends");
    assert!(out.status.success(), "pdftoppm drew page {page}");
    // A binary PGM: `P5`, width, height and the largest value, each ended by whitespace.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        let start = at;
        while !out.stdout[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&out.stdout[start..at]).into_owned());
        at += 1;
    }
    let number = |i: usize| fields[i].parse::<u32>().expect("a PGM dimension");
    (number(1), number(2), out.stdout[at..].to_vec())
}

/// The PDFs kept in the repository under `server/tests/fixtures/{dir}` (`corpus`,
/// `hostile`), sorted by name.
pub fn kept_pdfs(dir: &str) -> Vec<std::path::PathBuf> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    files
}
