package androidx.camera.core;

import android.graphics.Rect;
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
    /** The region of the (unrotated) buffer that is valid: with a ViewPort, what the preview shows. */
    Rect getCropRect();
    ImageInfo getImageInfo();
    @Override void close();
}
