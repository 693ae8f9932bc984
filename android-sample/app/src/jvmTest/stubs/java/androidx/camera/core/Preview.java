package androidx.camera.core;

/** JVM stand-in. */
public final class Preview extends UseCase {
    public interface SurfaceProvider {}

    public static final class Builder {
        public Preview build() { return new Preview(); }
    }

    public void setSurfaceProvider(SurfaceProvider provider) {}
}
