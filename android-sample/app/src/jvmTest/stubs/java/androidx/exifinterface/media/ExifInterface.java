package androidx.exifinterface.media;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** JVM stand-in: reads only the orientation tag of IFD0, from a JPEG APP1 or a PNG eXIf chunk. */
public class ExifInterface {
    public static final String TAG_ORIENTATION = "Orientation";
    public static final int ORIENTATION_NORMAL = 1;

    private int orientation = -1;

    public ExifInterface(InputStream stream) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] chunk = new byte[65536];
        int n;
        while ((n = stream.read(chunk)) > 0) all.write(chunk, 0, n);
        byte[] d = all.toByteArray();
        int tiff = -1;
        if (d.length > 4 && (d[0] & 0xFF) == 0xFF && (d[1] & 0xFF) == 0xD8) {
            int p = 2;
            while (p + 4 < d.length && (d[p] & 0xFF) == 0xFF) {
                int marker = d[p + 1] & 0xFF;
                int len = ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
                if (marker == 0xE1 && p + 10 < d.length && d[p + 4] == 'E' && d[p + 5] == 'x' && d[p + 6] == 'i'
                        && d[p + 7] == 'f') {
                    tiff = p + 10;
                    break;
                }
                if (marker == 0xDA) break;
                p += 2 + len;
            }
        } else if (d.length > 8 && (d[0] & 0xFF) == 0x89 && d[1] == 'P') {
            int p = 8;
            while (p + 8 <= d.length) {
                int len = u32(d, p, true);
                String type = new String(d, p + 4, 4, "ISO-8859-1");
                if (type.equals("eXIf")) {
                    tiff = p + 8;
                    break;
                }
                if (type.equals("IDAT")) break;
                p += 12 + len;
            }
        }
        if (tiff >= 0 && tiff + 8 <= d.length) {
            boolean big = d[tiff] == 'M';
            int ifd = tiff + u32(d, tiff + 4, big);
            int count = u16(d, ifd, big);
            for (int i = 0; i < count; i++) {
                int e = ifd + 2 + 12 * i;
                if (e + 12 > d.length) break;
                if (u16(d, e, big) == 0x0112) orientation = u16(d, e + 8, big);
            }
        }
    }

    public int getAttributeInt(String tag, int defaultValue) {
        return TAG_ORIENTATION.equals(tag) && orientation >= 0 ? orientation : defaultValue;
    }

    private static int u16(byte[] d, int p, boolean big) {
        return big ? ((d[p] & 0xFF) << 8) | (d[p + 1] & 0xFF) : ((d[p + 1] & 0xFF) << 8) | (d[p] & 0xFF);
    }

    private static int u32(byte[] d, int p, boolean big) {
        return big ? (u16(d, p, true) << 16) | u16(d, p + 2, true) : (u16(d, p + 2, false) << 16) | u16(d, p, false);
    }
}
