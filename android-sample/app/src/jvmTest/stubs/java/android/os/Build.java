package android.os;

/** JVM stand-in: {@code SDK_INT} is settable so tests can act as an older Android. */
public class Build {
    public static class VERSION {
        public static int SDK_INT = 35;
    }

    public static class VERSION_CODES {
        public static final int O = 26;
    }
}
