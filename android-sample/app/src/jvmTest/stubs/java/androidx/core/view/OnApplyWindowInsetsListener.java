package androidx.core.view;

/** JVM stand-in. */
public interface OnApplyWindowInsetsListener {
    WindowInsetsCompat onApplyWindowInsets(android.view.View v, WindowInsetsCompat insets);
}
