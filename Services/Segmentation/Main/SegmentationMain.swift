import Foundation
import Segmentation
import ServiceKit

/// `tandem-segmentation`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8082 by default, graceful shutdown on SIGTERM/SIGINT.
@main
enum SegmentationMain {
    static func main() async {
        let code = await TandemService.main(name: "segmentation", defaultPort: 8082) { configuration, rules in
            SegmentationProcessor(configuration: configuration, rules: rules)
        }
        exit(code)
    }
}
