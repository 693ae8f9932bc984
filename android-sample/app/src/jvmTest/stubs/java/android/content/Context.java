package android.content;

import android.content.res.AssetManager;

/** JVM stand-in: only what the app uses. */
public class Context {
    public AssetManager getAssets() { throw new UnsupportedOperationException("stand-in"); }
    public ContentResolver getContentResolver() { throw new UnsupportedOperationException("stand-in"); }
    public String getString(int id, Object... args) { return "string#" + id; }
}
