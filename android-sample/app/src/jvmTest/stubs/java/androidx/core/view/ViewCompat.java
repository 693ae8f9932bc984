package androidx.core.view;

/** JVM stand-in. */
public final class ViewCompat {
    public static void setOnApplyWindowInsetsListener(android.view.View v, OnApplyWindowInsetsListener listener) {}
}
