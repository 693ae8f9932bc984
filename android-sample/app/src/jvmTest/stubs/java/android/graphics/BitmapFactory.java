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
 * the embedded profile, as Android's decoder does with {@code inPreferredColorSpace = SRGB}). JPEG DCT scaling
 * ({@code inSampleSize > 1}) is not available in ImageIO: refused, so a test cannot pass by accident.
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
                if (opts.inSampleSize > 1) {
                    throw new UnsupportedOperationException("JVM stand-in: inSampleSize " + opts.inSampleSize
                        + " (JPEG DCT scaling) is not available in javax.imageio");
                }
            }
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
            return new Bitmap(argb, w, h);
        } catch (IOException e) {
            return null; // Android returns null for undecodable data
        }
    }
}
