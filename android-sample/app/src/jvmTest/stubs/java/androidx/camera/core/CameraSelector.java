package androidx.camera.core;

/** JVM stand-in. */
public final class CameraSelector {
    public static final CameraSelector DEFAULT_BACK_CAMERA = new CameraSelector();
}
