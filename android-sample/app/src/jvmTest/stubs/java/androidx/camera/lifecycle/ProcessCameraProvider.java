package androidx.camera.lifecycle;

import android.content.Context;
import androidx.camera.core.Camera;
import androidx.camera.core.CameraSelector;
import androidx.camera.core.UseCase;
import androidx.camera.core.UseCaseGroup;
import androidx.lifecycle.LifecycleOwner;
import com.google.common.util.concurrent.ListenableFuture;

/** JVM stand-in. */
public final class ProcessCameraProvider {
    public static ListenableFuture<ProcessCameraProvider> getInstance(Context context) {
        throw new UnsupportedOperationException("stand-in");
    }

    public void unbindAll() {}

    public Camera bindToLifecycle(LifecycleOwner owner, CameraSelector selector, UseCase... useCases) {
        throw new UnsupportedOperationException("stand-in");
    }

    public Camera bindToLifecycle(LifecycleOwner owner, CameraSelector selector, UseCaseGroup group) {
        throw new UnsupportedOperationException("stand-in");
    }
}
