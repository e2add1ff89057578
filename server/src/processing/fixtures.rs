//! Small, valid PDFs built in memory, for tests and benchmarks.

use lopdf::{
    content::{Content, Operation},
    dictionary, Document, Object, Stream,
};

/// The text that page `n` of a fixture carries, so a test can find it again.
pub fn page_marker(n: u32) -> String {
    format!("Uplink page {n}")
}

/// A PDF of `pages` pages, page `n` saying [`page_marker`]`(n)` and a line of filler.
pub fn pdf(pages: u32) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let kids: Vec<Object> = (1..=pages)
        .map(|n| {
            let content = Content {
                operations: vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 18.into()]),
                    Operation::new("Td", vec![72.into(), 720.into()]),
                    Operation::new("Tj", vec![Object::string_literal(page_marker(n))]),
                    Operation::new("Td", vec![0.into(), (-24).into()]),
                    Operation::new(
                        "Tj",
                        vec![Object::string_literal(
                            "The quick brown fox jumps over the lazy dog.",
                        )],
                    ),
                    Operation::new("ET", vec![]),
                ],
            };
            let stream = Stream::new(dictionary! {}, content.encode().unwrap_or_default());
            let content_id = doc.add_object(stream);
            doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
            })
            .into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => pages,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap_or_default();
    bytes
}

/// The PDFs kept in the repository under `server/tests/fixtures/{dir}` (`corpus`,
/// `hostile`), sorted by name.
pub fn kept_pdfs(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    files
}
