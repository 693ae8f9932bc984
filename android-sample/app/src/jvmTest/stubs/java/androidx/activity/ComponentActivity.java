package androidx.activity;

import androidx.activity.result.ActivityResultCallback;
import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.contract.ActivityResultContract;
import androidx.lifecycle.LifecycleOwner;

/** JVM stand-in. */
public class ComponentActivity extends android.content.Context implements LifecycleOwner {
    protected void onCreate(android.os.Bundle savedInstanceState) {}
    protected void onStart() {}
    protected void onStop() {}
    public void setContentView(int layout) {}

    @SuppressWarnings("unchecked")
    public <T extends android.view.View> T findViewById(int id) { throw new UnsupportedOperationException("stand-in"); }

    public <I, O> ActivityResultLauncher<I> registerForActivityResult(
            ActivityResultContract<I, O> contract, ActivityResultCallback<O> callback) {
        return new ActivityResultLauncher<I>();
    }
}
