package androidx.camera.view;

import androidx.camera.core.Preview;

/** JVM stand-in. */
public class PreviewView extends android.view.View {
    public Preview.SurfaceProvider getSurfaceProvider() { return new Preview.SurfaceProvider() {}; }
}
