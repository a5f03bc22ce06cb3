import Foundation
import Intake
import ServiceKit

/// `tandem-intake`: configuration from the environment (see ServiceConfiguration), health and
/// metrics on port 8081 by default, graceful shutdown on SIGTERM/SIGINT.
@main
enum IntakeMain {
    static func main() async {
        let code = await TandemService.main(name: "intake", defaultPort: 8081) { configuration, rules in
            IntakeProcessor(configuration: configuration, rules: rules)
        }
        exit(code)
    }
}
