package android.net;

import java.io.File;

/** JVM stand-in: a {@code file:} URI. */
public final class Uri {
    private final String path;

    private Uri(String path) { this.path = path; }

    public static Uri fromFile(File file) { return new Uri(file.getAbsolutePath()); }
    public String getPath() { return path; }
    @Override public String toString() { return "file://" + path; }
}
