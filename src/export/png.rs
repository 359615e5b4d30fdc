//! An RGBA picture (e.g. the app's captured plots) as PNG.

use super::{ExportError, write_atomically};
use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use std::io::Write;
use std::path::Path;

/// An 8-bit sRGB RGBA pixel buffer, rows top to bottom, not premultiplied.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbaPicture {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl RgbaPicture {
    /// Check that the buffer matches the size and is not empty.
    pub fn check(&self) -> Result<(), ExportError> {
        let expected = self.width as usize * self.height as usize * 4;
        if self.rgba.len() != expected {
            return Err(ExportError::BadBuffer {
                width: self.width,
                height: self.height,
                expected,
                actual: self.rgba.len(),
            });
        }
        if expected == 0 {
            return Err(ExportError::Empty("the picture has no pixels"));
        }
        Ok(())
    }
}

/// Encode `picture` as PNG into `w`.
pub fn write_png_to(w: impl Write, picture: &RgbaPicture) -> Result<(), ExportError> {
    picture.check()?;
    PngEncoder::new(w).write_image(
        &picture.rgba,
        picture.width,
        picture.height,
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(())
}

/// Encode `picture` as PNG into the file `path` (atomically).
pub fn write_png(path: &Path, picture: &RgbaPicture) -> Result<(), ExportError> {
    picture.check()?;
    write_atomically(path, |w| write_png_to(w, picture))
}

/// Pixels per metre of `dpi` dots per inch, as PNG's pHYs chunk stores a resolution.
pub fn pixels_per_metre(dpi: f64) -> u32 {
    // 1 in = 0.0254 m; DPI is checked to 10..1200 before, so this fits a u32
    (dpi / 0.0254).round() as u32
}

/// [`write_png`] declaring its resolution (the pHYs chunk), so a 300-DPI figure opens at its size
/// in print and layout programs. The `png` crate is used directly: `image`'s encoder has no
/// setting for it.
pub fn write_png_at_dpi(path: &Path, picture: &RgbaPicture, dpi: f64) -> Result<(), ExportError> {
    picture.check()?;
    write_atomically(path, |w| {
        let mut enc = ::png::Encoder::new(w, picture.width, picture.height);
        enc.set_color(::png::ColorType::Rgba);
        enc.set_depth(::png::BitDepth::Eight);
        let ppm = pixels_per_metre(dpi);
        enc.set_pixel_dims(Some(::png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: ::png::Unit::Meter,
        }));
        let mut writer = enc.write_header()?;
        writer.write_image_data(&picture.rgba)?;
        writer.finish()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker(width: u32, height: u32) -> RgbaPicture {
        let mut rgba = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let on = (x + y) % 2 == 0;
                rgba.extend_from_slice(if on {
                    &[255, 0, 0, 255]
                } else {
                    &[0, 0, 255, 128]
                });
            }
        }
        RgbaPicture {
            width,
            height,
            rgba,
        }
    }

    #[test]
    fn png_decodes_back_to_the_same_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plots.png");
        let pic = checker(5, 3);
        write_png(&path, &pic).unwrap();
        let back = image::open(&path).unwrap().into_rgba8();
        assert_eq!(back.dimensions(), (5, 3));
        assert_eq!(back.into_raw(), pic.rgba);
    }

    #[test]
    fn wrong_buffer_size_is_refused_not_a_panic() {
        let mut pic = checker(4, 4);
        pic.rgba.pop();
        let err = write_png_to(Vec::new(), &pic).unwrap_err();
        assert!(
            matches!(
                err,
                ExportError::BadBuffer {
                    expected: 64,
                    actual: 63,
                    ..
                }
            ),
            "{err}"
        );
        let empty = RgbaPicture {
            width: 0,
            height: 7,
            rgba: vec![],
        };
        assert!(matches!(
            write_png_to(Vec::new(), &empty),
            Err(ExportError::Empty(_))
        ));
    }
}
