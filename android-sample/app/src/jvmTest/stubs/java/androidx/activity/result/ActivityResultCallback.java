package androidx.activity.result;

/** JVM stand-in. */
public interface ActivityResultCallback<O> {
    void onActivityResult(O result);
}
