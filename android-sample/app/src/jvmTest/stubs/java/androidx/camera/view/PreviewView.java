package androidx.camera.view;

import androidx.camera.core.Preview;
import androidx.camera.core.ViewPort;

/** JVM stand-in. */
public class PreviewView extends android.view.View {
    public Preview.SurfaceProvider getSurfaceProvider() { return new Preview.SurfaceProvider() {}; }
    /** Null until the view is laid out (as in CameraX). */
    public ViewPort getViewPort() { return null; }
}
