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
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let kids: Vec<Object> = (1..=pages)
        .map(|page| {
            let contents = doc.add_object(Stream::new(dictionary! {}, page_text(page, lines)));
            doc.add_object(
                dictionary! { "Type" => "Page", "Parent" => tree, "Contents" => contents },
            )
            .into()
        })
        .collect();
    doc.objects.insert(
        tree,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => pages,
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
