package android.view;

import android.content.Context;

/** JVM stand-in. */
public abstract class OrientationEventListener {
    public static final int ORIENTATION_UNKNOWN = -1;

    public OrientationEventListener(Context context) {}
    public abstract void onOrientationChanged(int orientation);
    public void enable() {}
    public void disable() {}
}
