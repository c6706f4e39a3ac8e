// The web chat page served at "/": one HTML file with its CSS and JavaScript, embedded in the
// binary (no build step, no CDN).
#pragma once

#include <string>

namespace llm::server {
const std::string& chat_page_html();
}
