// The body of the per-floor link checks (CMakeLists.txt, jobd_link_<floor>):
// each links one floor's whole library with only the floors below it, so a
// call that runs up a floor is an undefined reference and the build fails.
int main() { return 0; }
