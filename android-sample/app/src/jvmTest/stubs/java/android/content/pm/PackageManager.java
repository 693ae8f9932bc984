package android.content.pm;

/** JVM stand-in. */
public class PackageManager {
    public static final int PERMISSION_GRANTED = 0;
}
