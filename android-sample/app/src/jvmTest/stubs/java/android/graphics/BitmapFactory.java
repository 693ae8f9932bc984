package android.graphics;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * JVM stand-in decoding with javax.imageio, with Android's documented semantics where the app relies on them:
 * {@code inJustDecodeBounds} returns null and fills {@code outWidth/outHeight/outMimeType}; greyscale is decoded to
 * R = G = B = value (16-bit: the high byte); colour photos with an ICC profile come out in sRGB (ImageIO applies
 * the embedded profile, as Android's decoder does with {@code inPreferredColorSpace = SRGB}). A sampled decode
 * ({@code inSampleSize = s > 1}) returns {@code ceil(width / s) x ceil(height / s)} pixels, as Android's does; JPEG
 * DCT scaling is not available in ImageIO, so each pixel is the mean of its {@code s x s} block of the full decode
 * (libjpeg's scaled IDCT is a smoother reduction of the same blocks: a few levels apart on average, not
 * bit-exact).
 */
public final class BitmapFactory {
    public static class Options {
        public boolean inJustDecodeBounds;
        public int inSampleSize = 1;
        public Bitmap.Config inPreferredConfig = Bitmap.Config.ARGB_8888;
        public ColorSpace inPreferredColorSpace;
        public int outWidth = -1;
        public int outHeight = -1;
        public String outMimeType;
    }

    public static Bitmap decodeStream(InputStream stream, Rect outPadding, Options opts) {
        try {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] chunk = new byte[65536];
            int n;
            while ((n = stream.read(chunk)) > 0) all.write(chunk, 0, n);
            byte[] data = all.toByteArray();
            ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data));
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return null;
            ImageReader reader = readers.next();
            reader.setInput(in);
            if (opts != null) {
                opts.outWidth = reader.getWidth(0);
                opts.outHeight = reader.getHeight(0);
                opts.outMimeType = reader.getOriginatingProvider().getMIMETypes()[0];
                if (opts.inJustDecodeBounds) return null; // Android returns null here, by design
            }
            int sample = opts != null ? Math.max(1, opts.inSampleSize) : 1;
            BufferedImage image = reader.read(0);
            int w = image.getWidth();
            int h = image.getHeight();
            int[] argb = new int[w * h];
            int type = image.getType();
            if (type == BufferedImage.TYPE_BYTE_GRAY || type == BufferedImage.TYPE_USHORT_GRAY) {
                Raster r = image.getRaster();
                int shift = type == BufferedImage.TYPE_USHORT_GRAY ? 8 : 0;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int v = r.getSample(x, y, 0) >> shift;
                        argb[y * w + x] = 0xFF000000 | (v << 16) | (v << 8) | v;
                    }
                }
            } else {
                image.getRGB(0, 0, w, h, argb, 0, w); // non-premultiplied sRGB, like Bitmap.getPixels
            }
            return sample == 1 ? new Bitmap(argb, w, h) : blockMeans(argb, w, h, sample);
        } catch (IOException e) {
            return null; // Android returns null for undecodable data
        }
    }

    /** Each output pixel the rounded mean of its {@code s x s} block (edge blocks: of the pixels they have). */
    private static Bitmap blockMeans(int[] argb, int w, int h, int s) {
        int ow = (w + s - 1) / s;
        int oh = (h + s - 1) / s;
        int[] out = new int[ow * oh];
        for (int by = 0; by < oh; by++) {
            for (int bx = 0; bx < ow; bx++) {
                long a = 0, r = 0, g = 0, b = 0;
                int n = 0;
                for (int y = by * s; y < Math.min(h, by * s + s); y++) {
                    for (int x = bx * s; x < Math.min(w, bx * s + s); x++) {
                        int p = argb[y * w + x];
                        a += p >>> 24;
                        r += (p >> 16) & 0xFF;
                        g += (p >> 8) & 0xFF;
                        b += p & 0xFF;
                        n++;
                    }
                }
                out[by * ow + bx] = (int) ((a + n / 2) / n) << 24 | (int) ((r + n / 2) / n) << 16
                    | (int) ((g + n / 2) / n) << 8 | (int) ((b + n / 2) / n);
            }
        }
        return new Bitmap(out, ow, oh);
    }
}
