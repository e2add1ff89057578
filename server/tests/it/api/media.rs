//! What processing makes of each kind of file, through the real router: a PDF's text
//! per page, an image's dimensions and thumbnail, text in any encoding.

use axum::http::{header, StatusCode};

use super::{assert_error, body, json, Api};

#[tokio::test]
async fn a_pdf_gets_text_per_page_and_other_bytes_get_none() {
    let api = Api::new().await;
    let pdf = testkit::pdf::pdf(3);
    let id = api.upload("three.pdf", &pdf).await["id"].as_str().unwrap().to_owned();
    api.finish(&id).await;
    let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
    assert_eq!(
        (upload["pages"].as_u64(), upload["content_type"].as_str()),
        (Some(3), Some("application/pdf"))
    );
    let text =
        String::from_utf8(body(api.get(&format!("/api/uploads/{id}/text")).await).await).unwrap();
    let pages: Vec<&str> = text.split('\x0c').collect();
    assert_eq!(pages.len(), 3);
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(&testkit::pdf::page_marker(i as u32 + 1)));
    }

    let binary = api.upload("blob.bin", &[0u8, 159, 146, 150, 1, 2, 3]).await;
    let id = binary["id"].as_str().unwrap();
    api.finish(id).await;
    let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
    assert_eq!(upload["content_type"], "application/octet-stream");
    assert_error(
        api.get(&format!("/api/uploads/{id}/text")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_image_gets_its_dimensions_and_a_thumbnail_and_a_broken_one_fails() {
    let api = Api::new().await;
    let image = image::RgbImage::from_fn(640, 320, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let id = api.upload("photo.png", &png).await["id"].as_str().unwrap().to_owned();
    api.finish(&id).await;
    let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
    assert_eq!(
        (upload["status"].as_str(), upload["content_type"].as_str()),
        (Some("done"), Some("image/png"))
    );
    assert_eq!((upload["width"].as_u64(), upload["height"].as_u64()), (Some(640), Some(320)));
    assert_eq!(upload["has_thumbnail"], true);
    let response = api.get(&format!("/api/uploads/{id}/thumbnail")).await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
    let thumbnail = image::load_from_memory(&body(response).await).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (160, 80));

    let mut broken = png.clone();
    broken.truncate(png.len() / 2);
    let id = api.upload("broken.png", &broken).await["id"].as_str().unwrap().to_owned();
    api.finish(&id).await;
    let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
    assert_eq!(
        (upload["status"].as_str(), upload["error"]["code"].as_str()),
        (Some("failed"), Some("corrupt"))
    );
    assert_error(
        api.get(&format!("/api/uploads/{id}/thumbnail")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_image_too_large_to_decode_still_gets_the_dimensions_its_header_states() {
    let api = Api::new().await;
    let image = image::RgbImage::from_pixel(48, 24, image::Rgb([10, 200, 30]));
    let mut jpeg = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    // 64 KiB of metadata before the frame header (past the 8 KiB sniffed), and the file
    // padded past the decoding limit after its end marker.
    let mut big = jpeg[..2].to_vec();
    big.extend([0xFF, 0xEF, 0xFF, 0xFF]);
    big.extend(std::iter::repeat_n(0u8, 0xFFFF - 2));
    big.extend(&jpeg[2..]);
    big.resize(65 << 20, 0);
    let id = api.upload("large.jpg", &big).await["id"].as_str().unwrap().to_owned();
    api.finish(&id).await;
    let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
    assert_eq!(upload["status"], "done", "{upload}");
    assert_eq!((upload["width"].as_u64(), upload["height"].as_u64()), (Some(48), Some(24)));
    assert_eq!(upload["has_thumbnail"], false);
}

#[tokio::test]
async fn text_is_downloaded_as_utf8_whatever_it_was_sent_in() {
    let api = Api::new().await;
    let cases: [(&[u8], &str, &str); 2] = [
        ("naïve café, € 5".as_bytes(), "text/plain; charset=utf-8", "naïve café, € 5"),
        (b"na\xefve caf\xe9, \x80 5", "text/plain; charset=windows-1252", "naïve café, € 5"),
    ];
    for (bytes, content_type, text) in cases {
        let id = api.upload("notes.txt", bytes).await["id"].as_str().unwrap().to_owned();
        api.finish(&id).await;
        let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
        assert_eq!(
            (upload["status"].as_str(), upload["content_type"].as_str()),
            (Some("done"), Some(content_type))
        );
        let got = body(api.get(&format!("/api/uploads/{id}/text")).await).await;
        assert_eq!(String::from_utf8(got).unwrap(), text, "{content_type}");
        // The file itself stays exactly as sent.
        assert_eq!(body(api.get(&format!("/api/uploads/{id}/file")).await).await, bytes);
    }
}
