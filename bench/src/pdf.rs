//! A plain text PDF of any number of pages, made here so the end-to-end figure needs no
//! file from anywhere: each page a title and forty lines of prose in Helvetica.

use lopdf::{
    content::{Content, Operation},
    dictionary, Document, Object, Stream,
};

const LINES_PER_PAGE: i64 = 40;

pub fn document(pages: u32) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let tree = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let kids: Vec<Object> = (1..=pages)
        .map(|page| {
            let contents = doc.add_object(Stream::new(dictionary! {}, page_text(page)));
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

fn page_text(page: u32) -> Vec<u8> {
    let mut operations = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 11.into()]),
        Operation::new("TL", vec![14.into()]),
        Operation::new("Td", vec![72.into(), 740.into()]),
        Operation::new("Tj", vec![Object::string_literal(format!("Chapter {page}"))]),
    ];
    for line in 1..=LINES_PER_PAGE {
        let text = format!(
            "Line {line} of page {page}: progress pushed as it happens, stage by stage and page by page."
        );
        operations.push(Operation::new("T*", vec![]));
        operations.push(Operation::new("Tj", vec![Object::string_literal(text)]));
    }
    operations.push(Operation::new("ET", vec![]));
    Content { operations }.encode().expect("these operations always encode")
}
