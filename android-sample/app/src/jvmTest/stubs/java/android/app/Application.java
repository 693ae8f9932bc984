package android.app;

import android.content.ContentResolver;
import android.content.res.AssetManager;

/** JVM stand-in: the assets and content resolver are set by the test. */
public class Application extends android.content.Context {
    public AssetManager assetManager;
    public ContentResolver resolver = new ContentResolver();

    @Override public AssetManager getAssets() { return assetManager; }
    @Override public ContentResolver getContentResolver() { return resolver; }
}
