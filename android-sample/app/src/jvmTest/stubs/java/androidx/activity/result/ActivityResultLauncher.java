package androidx.activity.result;

/** JVM stand-in. */
public class ActivityResultLauncher<I> {
    public void launch(I input) {}
}
