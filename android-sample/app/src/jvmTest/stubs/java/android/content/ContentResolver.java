package android.content;

import android.net.Uri;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.InputStream;

/** JVM stand-in: opens {@code file:} URIs (Uri.fromFile) from the file system; null for a missing file's URI
 *  when {@link #returnNull} is set, like a provider that returns nothing. */
public class ContentResolver {
    public boolean returnNull = false;

    public final InputStream openInputStream(Uri uri) throws FileNotFoundException {
        if (returnNull) return null;
        return new FileInputStream(uri.getPath());
    }
}
