//! Image previews: PNG or JPEG bytes decoded and downscaled to a small RGB thumbnail that
//! a terminal can draw (half blocks, shades). Pure: bytes in, pixels or the reason out —
//! no terminal, no files, so the console and the CLI can both use it.

/// Largest image (in pixels) decoded at all: bigger ones are refused before decoding.
pub const MAX_DECODED_PIXELS: u64 = 64_000_000;

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

/// Why an image has no thumbnail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("preview shows PNG and JPEG images")]
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

/// Decoded pixels: `channels` bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or
/// CMYK), rows `line` bytes apart.
struct Raster {
    width: u32,
    height: u32,
    channels: usize,
    line: usize,
    cmyk: bool,
    buf: Vec<u8>,
}

fn corrupt(format: &'static str) -> impl Fn(String) -> PreviewError {
    move |reason| PreviewError::Corrupt { format, reason }
}

fn check_size(w: u32, h: u32) -> Result<(), PreviewError> {
    if w == 0 || h == 0 || (w as u64) * (h as u64) > MAX_DECODED_PIXELS {
        return Err(PreviewError::TooLarge);
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<Raster, PreviewError> {
    let png_err = |e: png::DecodingError| corrupt("PNG")(e.to_string());
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(png_err)?;
    let (w, h) = (reader.info().width, reader.info().height);
    check_size(w, h)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(png_err)?;
    Ok(Raster {
        width: w,
        height: h,
        channels: frame.color_type.samples(),
        line: frame.line_size,
        cmyk: false,
        buf,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Raster, PreviewError> {
    use jpeg_decoder::PixelFormat;
    let jpeg_err = |e: jpeg_decoder::Error| corrupt("JPEG")(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    decoder.read_info().map_err(jpeg_err)?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt("JPEG")("no header".into()))?;
    let (w, h) = (info.width as u32, info.height as u32);
    check_size(w, h)?;
    let buf = decoder.decode().map_err(jpeg_err)?;
    let (channels, sample) = match info.pixel_format {
        PixelFormat::L8 => (1, 1),
        PixelFormat::L16 => (1, 2),
        PixelFormat::RGB24 => (3, 1),
        PixelFormat::CMYK32 => (4, 1),
    };
    Ok(Raster {
        width: w,
        height: h,
        channels: channels * sample,
        line: w as usize * channels * sample,
        cmyk: info.pixel_format == PixelFormat::CMYK32,
        buf,
    })
}

/// Decode a PNG or JPEG (recognised by its first bytes, whatever its declared type) and
/// scale it to at most `max_side` pixels per side (never up).
pub fn thumbnail(bytes: &[u8], max_side: u32) -> Result<Thumbnail, PreviewError> {
    let r = if bytes.starts_with(b"\x89PNG") {
        decode_png(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)?
    } else {
        return Err(PreviewError::Unsupported);
    };
    let (w, h) = (r.width, r.height);
    let scale = (w.max(h) as f64 / max_side.max(1) as f64).max(1.0);
    let (pw, ph) = (
        ((w as f64 / scale) as u32).max(1),
        ((h as f64 / scale) as u32).max(1),
    );
    let mut pixels = Vec::with_capacity((pw * ph) as usize);
    for y in 0..ph {
        for x in 0..pw {
            let sx = ((x as f64 * scale) as u32).min(w - 1);
            let sy = ((y as f64 * scale) as u32).min(h - 1);
            let i = (sy as usize * r.line) + sx as usize * r.channels;
            let p = r
                .buf
                .get(i..i + r.channels)
                .ok_or(PreviewError::Truncated)?;
            let px = match (r.channels, r.cmyk) {
                (4, true) => {
                    let k = p[3] as u32;
                    let ink = |c: u8| ((255 - c as u32) * (255 - k) / 255) as u8;
                    [ink(p[0]), ink(p[1]), ink(p[2])]
                }
                (1 | 2, _) => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            };
            pixels.push(px);
        }
    }
    Ok(Thumbnail {
        width: w,
        height: h,
        px_w: pw,
        px_h: ph,
        pixels,
    })
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
        assert!(e.to_string().starts_with("cannot decode the PNG"), "{e}");
        assert_eq!(
            thumbnail(b"GIF89a....", 120).unwrap_err(),
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
}
