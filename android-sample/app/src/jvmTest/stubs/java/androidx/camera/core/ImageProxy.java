package androidx.camera.core;

import java.nio.ByteBuffer;

/** JVM stand-in. */
public interface ImageProxy extends AutoCloseable {
    interface PlaneProxy {
        ByteBuffer getBuffer();
        int getRowStride();
        int getPixelStride();
    }

    PlaneProxy[] getPlanes();
    int getWidth();
    int getHeight();
    ImageInfo getImageInfo();
    @Override void close();
}
