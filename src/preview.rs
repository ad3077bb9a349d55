//! Image previews: PNG, JPEG, WebP or GIF (first frame) bytes decoded with the `image`
//! crate — a full-resolution picture for terminals with a graphics protocol (kitty, sixel,
//! iTerm2), and a small RGB thumbnail any colour terminal can draw with half blocks. Pure:
//! bytes in, pixels or the reason out — no terminal, no files, so the console and the CLI
//! can both use it. Decoding is bounded: a header claiming more than
//! [`MAX_DECODED_PIXELS`] is refused before any pixel is decoded.

use image::{DynamicImage, ImageFormat, ImageReader};
use std::io::Cursor;

/// Largest image (in pixels) decoded at all: bigger ones are refused before decoding.
pub const MAX_DECODED_PIXELS: u64 = 64_000_000;

/// Largest side kept of a full-resolution preview (bigger images are scaled down once:
/// no terminal shows more, and it bounds the memory a preview holds).
pub const MAX_FULL_SIDE: u32 = 2048;

/// A downscaled image: `px_w` × `px_h` RGB pixels, row-major, of a `width` × `height`
/// original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub px_w: u32,
    pub px_h: u32,
    pub pixels: Vec<[u8; 3]>,
}

/// Why an image has no preview.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("preview shows PNG, JPEG, WebP and GIF images")]
    Unsupported,
    #[error("image too large to preview")]
    TooLarge,
    #[error("cannot decode the {format}: {reason}")]
    Corrupt {
        format: &'static str,
        reason: String,
    },
    #[error("the image data is shorter than its header says")]
    Truncated,
}

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Gif => "GIF",
        _ => "image",
    }
}

fn error_of(format: ImageFormat, e: image::ImageError) -> PreviewError {
    use image::ImageError as E;
    match e {
        E::Limits(_) => PreviewError::TooLarge,
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => PreviewError::Truncated,
        other => PreviewError::Corrupt {
            format: format_name(format),
            reason: other.to_string(),
        },
    }
}

/// Decode an image (recognised by its first bytes, whatever its declared type): a GIF
/// gives its first frame.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, PreviewError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif)) => f,
        _ => return Err(PreviewError::Unsupported),
    };
    let reader = || ImageReader::with_format(Cursor::new(bytes), format);
    let (w, h) = reader()
        .into_dimensions()
        .map_err(|e| error_of(format, e))?;
    if w == 0 || h == 0 || (w as u64) * (h as u64) > MAX_DECODED_PIXELS {
        return Err(PreviewError::TooLarge);
    }
    let mut r = reader();
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    // Decoded pixels (at most 16 bytes each) plus the decoders' own buffers.
    limits.max_alloc = Some(MAX_DECODED_PIXELS * 16);
    r.limits(limits);
    r.decode().map_err(|e| error_of(format, e))
}

/// The full-resolution preview of a decoded image: at most [`MAX_FULL_SIDE`] per side.
pub fn full(img: DynamicImage) -> DynamicImage {
    if img.width().max(img.height()) > MAX_FULL_SIDE {
        img.resize(
            MAX_FULL_SIDE,
            MAX_FULL_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        img
    }
}

/// A thumbnail of a decoded image, at most `max_side` pixels per side (never scaled up).
pub fn thumbnail_of(img: &DynamicImage, max_side: u32) -> Thumbnail {
    let (w, h) = (img.width(), img.height());
    let small = if w.max(h) > max_side.max(1) {
        img.thumbnail(max_side.max(1), max_side.max(1))
    } else {
        img.clone()
    };
    let rgb = small.to_rgb8();
    Thumbnail {
        width: w,
        height: h,
        px_w: rgb.width(),
        px_h: rgb.height(),
        pixels: rgb.pixels().map(|p| p.0).collect(),
    }
}

/// Decode an image and scale it to at most `max_side` pixels per side (never up).
pub fn thumbnail(bytes: &[u8], max_side: u32) -> Result<Thumbnail, PreviewError> {
    decode(bytes).map(|img| thumbnail_of(&img, max_side))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u16, h: u16, color: jpeg_encoder::ColorType, px: &[u8]) -> Vec<u8> {
        let n = px.len();
        let data: Vec<u8> = px
            .iter()
            .cycle()
            .take(n * w as usize * h as usize)
            .copied()
            .collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&data, w, h, color)
            .unwrap();
        out
    }

    fn png(w: u32, h: u32, color: png::ColorType, px: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let data: Vec<u8> = px
            .iter()
            .cycle()
            .take(px.len() * (w * h) as usize)
            .copied()
            .collect();
        enc.write_header().unwrap().write_image_data(&data).unwrap();
        out
    }

    fn near(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
    }

    #[test]
    fn jpeg_thumbnails_in_rgb_grey_and_cmyk() {
        use jpeg_encoder::ColorType;
        let t = thumbnail(&jpeg(240, 60, ColorType::Rgb, &[200, 30, 40]), 120).unwrap();
        assert_eq!((t.width, t.height), (240, 60));
        assert_eq!(
            (t.px_w, t.px_h),
            (120, 30),
            "downscaled to the preview size"
        );
        assert!(
            t.pixels.iter().all(|p| near(*p, [200, 30, 40])),
            "{:?}",
            t.pixels[0]
        );

        let t = thumbnail(&jpeg(8, 8, ColorType::Luma, &[128]), 120).unwrap();
        assert_eq!((t.px_w, t.px_h), (8, 8), "never scaled up");
        assert!(near(t.pixels[0], [128, 128, 128]), "{:?}", t.pixels[0]);

        // Cyan ink only: no red, full green and blue.
        let t = thumbnail(&jpeg(8, 8, ColorType::Cmyk, &[255, 0, 0, 0]), 120).unwrap();
        assert!(near(t.pixels[0], [0, 255, 255]), "{:?}", t.pixels[0]);
    }

    #[test]
    fn png_thumbnails_in_rgb_and_grey_with_alpha() {
        let t = thumbnail(&png(30, 10, png::ColorType::Rgb, &[10, 200, 30]), 15).unwrap();
        assert_eq!((t.width, t.height, t.px_w, t.px_h), (30, 10, 15, 5));
        assert!(t.pixels.iter().all(|p| *p == [10, 200, 30]));
        let t = thumbnail(&png(4, 4, png::ColorType::GrayscaleAlpha, &[90, 255]), 120).unwrap();
        assert!(t.pixels.iter().all(|p| *p == [90, 90, 90]));
    }

    #[test]
    fn broken_unknown_and_huge_images_say_why() {
        let mut j = jpeg(16, 16, jpeg_encoder::ColorType::Rgb, &[1, 2, 3]);
        j.truncate(j.len() / 3);
        match thumbnail(&j, 120) {
            // A truncated baseline JPEG may still decode partly.
            Ok(_) | Err(PreviewError::Corrupt { .. } | PreviewError::Truncated) => {}
            Err(e) => panic!("{e}"),
        }
        let mut p = png(4, 4, png::ColorType::Rgb, &[1, 2, 3]);
        p.truncate(p.len() - 20);
        let e = thumbnail(&p, 120).unwrap_err();
        assert!(
            e == PreviewError::Truncated || e.to_string().starts_with("cannot decode the PNG"),
            "{e}"
        );
        assert_eq!(
            thumbnail(b"BM not a supported format", 120).unwrap_err(),
            PreviewError::Unsupported
        );
        // A header claiming 100,000 × 100,000 pixels is refused before any decoding.
        let mut huge = png(1, 1, png::ColorType::Rgb, &[0, 0, 0]);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let e = thumbnail(&huge, 120).unwrap_err();
        assert!(
            matches!(e, PreviewError::TooLarge | PreviewError::Corrupt { .. }),
            "{e}"
        );
    }

    #[test]
    fn webp_and_gif_decode_and_a_gif_gives_its_first_frame() {
        use image::{ImageEncoder, Rgba, RgbaImage};
        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .write_image(
                &[10, 20, 30, 255].repeat(64),
                8,
                8,
                image::ExtendedColorType::Rgba8,
            )
            .unwrap();
        let t = thumbnail(&webp, 120).unwrap();
        assert_eq!((t.width, t.height), (8, 8));
        assert!(t.pixels.iter().all(|p| *p == [10, 20, 30]));
        let mut gif = Vec::new();
        {
            let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
            for color in [[200u8, 0, 0, 255], [0, 0, 200, 255]] {
                let frame = image::Frame::new(RgbaImage::from_pixel(6, 4, Rgba(color)));
                enc.encode_frame(frame).unwrap();
            }
        }
        let t = thumbnail(&gif, 120).unwrap();
        assert_eq!((t.width, t.height), (6, 4));
        assert!(
            near(t.pixels[0], [200, 0, 0]),
            "first frame: {:?}",
            t.pixels[0]
        );
    }

    #[test]
    fn full_resolution_previews_are_bounded() {
        let big = DynamicImage::new_rgb8(4000, 1000);
        let f = full(big);
        assert_eq!((f.width(), f.height()), (MAX_FULL_SIDE, 512));
        let small = DynamicImage::new_rgb8(300, 200);
        assert_eq!(full(small).width(), 300, "never scaled up");
    }
}
