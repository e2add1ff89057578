//! Images (PNG, JPEG, GIF, WebP): their dimensions and a small PNG thumbnail for the
//! dashboard card.
//!
//! Decoding runs on a blocking thread under the decoder's own limits: an image that
//! claims enormous dimensions (a decompression bomb) is refused before anything that
//! size is allocated, and a decoder panic fails only its upload.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// The thumbnail's longest side, in pixels.
pub const THUMBNAIL_SIDE: u32 = 160;

/// Largest image file decoded for a thumbnail; larger ones still get their dimensions.
pub const MAX_DECODED_FILE: u64 = 64 << 20;

/// How much of a larger file is read for its dimensions.
pub const HEADER_WINDOW: u64 = 1 << 20;

/// Largest image decoded, in pixels per side and in bytes allocated.
const MAX_SIDE: u32 = 20_000;
const MAX_ALLOC: u64 = 512 << 20;

#[derive(Debug)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    /// PNG bytes, at most [`THUMBNAIL_SIDE`] on the longest side.
    pub thumbnail: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PictureError {
    Corrupt(String),
    /// Dimensions or memory beyond the limits.
    TooLarge(String),
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, PictureError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PictureError::Corrupt(e.to_string()))?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)
    ) {
        return Err(PictureError::Corrupt("not a PNG, JPEG, GIF or WebP image".into()));
    }
    reader.limits(limits());
    Ok(reader)
}

fn classify(error: image::ImageError) -> PictureError {
    match error {
        image::ImageError::Limits(e) => PictureError::TooLarge(e.to_string()),
        other => PictureError::Corrupt(other.to_string()),
    }
}

/// The dimensions, from the header alone.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), PictureError> {
    reader(bytes)?.into_dimensions().map_err(classify)
}

/// Decodes `bytes` (the whole file) into its dimensions and thumbnail.
pub fn read(bytes: &[u8]) -> Result<Picture, PictureError> {
    let (width, height) = dimensions(bytes)?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(PictureError::TooLarge(format!("{width} × {height} pixels")));
    }
    let image = reader(bytes)?.decode().map_err(classify)?;
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    let mut png = Vec::new();
    small
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| PictureError::Corrupt(e.to_string()))?;
    Ok(Picture { width, height, thumbnail: Some(png) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn an_image_gets_its_size_and_a_small_thumbnail() {
        let picture = read(&png(640, 320)).unwrap();
        assert_eq!((picture.width, picture.height), (640, 320));
        let thumbnail = image::load_from_memory(&picture.thumbnail.unwrap()).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (160, 80));
    }

    #[test]
    fn a_damaged_image_is_corrupt() {
        let mut bytes = png(64, 64);
        bytes.truncate(bytes.len() / 2);
        assert!(matches!(read(&bytes), Err(PictureError::Corrupt(_))));
    }

    #[test]
    fn an_image_claiming_enormous_dimensions_is_refused_before_decoding() {
        // A PNG header saying 100,000 × 100,000 pixels (40 GB decoded).
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // With a correct CRC over the chunk, so only the size is wrong with it.
        let crc = bytes[12..29].iter().fold(!0u32, |mut crc, &b| {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
            crc
        });
        bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
        assert!(matches!(read(&bytes), Err(PictureError::TooLarge(_))), "{:?}", read(&bytes));
    }
}
