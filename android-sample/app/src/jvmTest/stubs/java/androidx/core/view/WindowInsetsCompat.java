package androidx.core.view;

import androidx.core.graphics.Insets;

/** JVM stand-in. */
public class WindowInsetsCompat {
    public static final WindowInsetsCompat CONSUMED = new WindowInsetsCompat();

    public static final class Type {
        public static int systemBars() { return 7; }
        public static int displayCutout() { return 128; }
    }

    public Insets getInsets(int typeMask) { return new Insets(0, 0, 0, 0); }
}
