package android.widget;

/** JVM stand-in. */
public class ImageView extends android.view.View {
    public void setImageBitmap(android.graphics.Bitmap bitmap) {}
}
